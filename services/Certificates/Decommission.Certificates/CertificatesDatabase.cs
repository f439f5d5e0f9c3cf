using Decommission.Sqlite;

namespace Decommission.Certificates;

/// <summary>The certificates service's own SQLite file: certificate metadata, API keys (hashed), the access log.</summary>
public sealed class CertificatesDatabase(string path) : SqliteDatabase(path, typeof(CertificatesDatabase).Assembly);
