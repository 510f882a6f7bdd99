import sys
from pathlib import Path

import optuna

sys.path.insert(0, str(Path(__file__).parent))
optuna.logging.set_verbosity(optuna.logging.WARNING)
