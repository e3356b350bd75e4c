import sys

from zenml_server.main import main

sys.exit(main())
