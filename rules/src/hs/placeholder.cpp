// Placeholder: replaced by the Hyperscan matcher implementation.
namespace vigil::rules::hs {}
