"""snnc.compiler: IR, passes, calibration, analysis and the compiled artifact."""
