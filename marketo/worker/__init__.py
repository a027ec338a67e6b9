"""The Marketo worker: durable jobs, one lease per integration, sync and provisioning."""
