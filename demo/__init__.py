"""`make demo`: the whole pipeline offline, against the Hub simulator serving a bundled sample of real
model cards and two tiny real models (see demo/README.md)."""
