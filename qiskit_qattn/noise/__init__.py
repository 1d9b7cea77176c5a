"""Noise models for attention circuits (Aer ``NoiseModel``s)."""

from .device import clear_noise_cache, device_noise_model, reduced_target

__all__ = ["clear_noise_cache", "device_noise_model", "reduced_target"]
