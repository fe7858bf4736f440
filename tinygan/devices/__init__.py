"""The device layer: the only place that knows NumPy from CuPy (array module, devices, seeded random streams, the CPU stand-in device)."""
