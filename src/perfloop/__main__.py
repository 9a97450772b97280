import sys

from perfloop.cli.main import main

sys.exit(main())
