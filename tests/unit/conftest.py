import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))  # fake_target helper module
sys.path.insert(0, str(Path(__file__).parent.parent))  # shared_fixtures
