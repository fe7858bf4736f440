"""The PyTorch-compatibility layer: creation functions, function forms, legacy types, the .pt format."""
