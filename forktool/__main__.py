import sys

from forktool.cli import main

sys.exit(main())
