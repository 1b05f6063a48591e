"""Features, each written once against the platform-free command model."""
