using Decommission.Storage;

namespace Decommission.Credentials;

/// <summary>The credentials service's own SQLite file (secure_delete on: a destroyed hash is zeroed, not just unlinked).</summary>
public sealed class CredentialsDatabase(DatabaseLocation location) : ServiceDatabase(location, typeof(CredentialsDatabase).Assembly)
{
    // Revoking a secret destroys its hash: no copy may stay in free pages or the WAL.
    protected override bool SecureDelete => true;
}
