import os
import sys

# ctest runs pytest from tests/; make `import harness` work from anywhere too.
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
