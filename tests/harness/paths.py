"""Where the built artifacts are: HUBSTATS_BUILD_DIR / HUBSTATS_SOURCE_DIR (set by ctest)."""
import os
from pathlib import Path

SOURCE_DIR = Path(os.environ.get("HUBSTATS_SOURCE_DIR", Path(__file__).resolve().parents[2]))
BUILD_DIR = Path(os.environ.get("HUBSTATS_BUILD_DIR", SOURCE_DIR / "build"))
MODULE_PATH = BUILD_DIR / "nginx-module" / "ngx_http_hubstats_module.so"
NGINX_BIN = os.environ.get("HUBSTATS_NGINX", "/usr/sbin/nginx")
