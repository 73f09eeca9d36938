package integrity

// SetStepHook lets tests see how many files the engine holds after each
// step.
func SetStepHook(f func(held int)) { stepHook = f }
