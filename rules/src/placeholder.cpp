// Placeholder: replaced by the rule parser implementation.
