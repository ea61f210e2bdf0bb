from rhm_theory.cli import main
import sys
sys.exit(main())
