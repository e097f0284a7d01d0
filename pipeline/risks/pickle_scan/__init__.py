"""A static scan of the files that `pickle`, `torch.load`, `joblib.load` and `numpy.load` read: each file
is read the way those loaders read it, every pickle they would unpickle is walked opcode by opcode
without being run, and the globals it imports are judged against an allowlist. Nothing is unpickled.
"""
