"""Test doubles shipped with the package (not used by poolnas itself): trial functions of a
known length and outcome for tests and benchmarks (``fake_trials``). They live inside the
package because Ray workers must import them by name."""
