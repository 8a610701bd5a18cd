import sys

from ditto2.cli import main

sys.exit(main())
