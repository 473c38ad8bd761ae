"""Background removal for microscopy stacks: methods that see the whole stack, in its dtype.

The video segmenters take 8-bit BGR frames one at a time. A stack method takes a
``(T, H, W)`` stack of any pixel type (a :class:`~streamseg.sources.tiffstack.TiffStack`
or a numpy array), may first learn from it (:meth:`~base.StackMethod.fit`: the nets
train on the stack itself, without labels), and then gives each frame's background
in order (:meth:`~base.StackMethod.decompose`); the sparse part is
``ReLU(frame − background)``. Methods, by name:

* ``median``: the sliding temporal median, centred or causal;
* ``rolling-ball``: scikit-image's rolling ball under each frame (spatial only);
* ``slnet``: SLNet, the STORM background-removal net, trained on the stack;
* ``deepls``: the DeepLS U-Net trained on the stack by the low-rank + sparse loss, with
  an optional anisotropic TV on the sparse part (a penalty or an ADMM split).

Example:
    >>> import numpy as np
    >>> from streamseg.segmenters.stack import create_stack_method, stack_methods
    >>> stack_methods()
    ['deepls', 'median', 'rolling-ball', 'slnet']
    >>> method = create_stack_method("median", window=5)
    >>> stack = np.full((8, 6, 7), 100, np.uint16); stack[3, 2, 2] = 900
    >>> parts = list(method.decompose(stack))
    >>> float(parts[3].background[2, 2]), float(parts[3].sparse[2, 2])
    (100.0, 800.0)
"""

from streamseg.segmenters.stack.base import (
    Decomposition,
    StackLike,
    StackMethod,
    create_stack_method,
    stack_method_class,
    stack_methods,
)

__all__ = [
    "Decomposition",
    "StackLike",
    "StackMethod",
    "create_stack_method",
    "stack_method_class",
    "stack_methods",
]
