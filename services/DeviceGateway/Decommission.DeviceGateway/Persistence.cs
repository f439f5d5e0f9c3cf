using Decommission.Storage;

namespace Decommission.DeviceGateway;

/// <summary>The gateway's own SQLite file: attestation keys, issued commands, received receipts.</summary>
public sealed class GatewayDatabase(DatabaseLocation location) : ServiceDatabase(location, typeof(GatewayDatabase).Assembly);
