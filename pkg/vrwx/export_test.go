package vrwx

// RunStepwise exposes the call-by-call path so tests can compare it with the
// one-round-trip path on the same chain.
var RunStepwise = (*Program).runStepwise
