using Decommission.Storage;

namespace Decommission.Certificates;

/// <summary>The certificates service's own SQLite file: certificate metadata, API keys (hashed), the access log.</summary>
public sealed class CertificatesDatabase(DatabaseLocation location) : ServiceDatabase(location, typeof(CertificatesDatabase).Assembly);
