import WASI
