"""The fast forms: fused kernels and the choice of convolution kernel, each tested equal to its plain form."""
