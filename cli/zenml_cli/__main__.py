"""``python -m zenml_cli``."""

import sys

from zenml_cli.main import main

sys.exit(main())
