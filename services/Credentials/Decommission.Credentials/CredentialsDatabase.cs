using Decommission.ServiceDefaults;

namespace Decommission.Credentials;

/// <summary>The credentials service's own SQLite file.</summary>
public sealed class CredentialsDatabase(string path) : SqliteDatabase(path, typeof(CredentialsDatabase).Assembly);
