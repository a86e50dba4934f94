import sys

from fastjoin.cli import main

sys.exit(main())
