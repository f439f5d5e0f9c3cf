using Decommission.Sqlite;

namespace Decommission.DeviceGateway;

/// <summary>The gateway's own SQLite file: attestation keys, issued commands, received receipts.</summary>
public sealed class GatewayDatabase(string path) : SqliteDatabase(path, typeof(GatewayDatabase).Assembly);
