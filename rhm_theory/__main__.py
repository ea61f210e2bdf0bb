import sys

from rhm_theory.cli import main

sys.exit(main())
