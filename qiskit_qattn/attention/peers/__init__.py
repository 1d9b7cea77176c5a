"""Peer approximations of softmax attention, implemented from their papers for comparison.

- ``performer``: FAVOR+ positive orthogonal random features (Choromanski et al., ICLR 2021).
- ``nystrom``: Nyströmformer landmarks + iterative pseudo-inverse (Xiong et al., AAAI 2021).
- ``linformer``: low-rank projection of keys/values along the sequence (Wang et al., 2020).

They are training-free here (random or pooled projections), as used to approximate a pretrained
model's attention; all accept key-padding masks (the same for every query) and reject
per-query masks with a ``ValueError``.
"""
