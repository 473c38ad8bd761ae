"""DeepLS: unsupervised low-rank + sparse segmentation with a U-Net (and SLNet).

Importing this package registers ``deepls`` and ``slnet`` without importing torch.
"""

from streamseg.segmenters.deepls.segmenter import DeepLS, SLNetSegmenter

__all__ = ["DeepLS", "SLNetSegmenter"]
