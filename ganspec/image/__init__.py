"""The image kind: what validate, render and explain know about an image spec once it is
analysed (shape traces, footprint, the layers that matter to the rules)."""
