import sys

from poolnas.cli import main

sys.exit(main())
