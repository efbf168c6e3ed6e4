"""Quantization: merge the adapter, convert to GGUF and quantize with llama.cpp's tools."""
