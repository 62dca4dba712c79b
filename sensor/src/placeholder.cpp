namespace vigil::sensor {}
