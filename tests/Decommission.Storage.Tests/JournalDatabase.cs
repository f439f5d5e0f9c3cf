using Decommission.Storage;

namespace Decommission.Storage.Tests;

/// <summary>A database the way a service declares one: its schema scripts embedded in its own assembly.</summary>
public sealed class JournalDatabase(DatabaseLocation location) : ServiceDatabase(location, typeof(JournalDatabase).Assembly)
{
    /// <summary>A path in a fresh temporary directory.</summary>
    public static string NewPath() => Path.Combine(Directory.CreateTempSubdirectory("decom-sqlite-").FullName, "journal.db");
}
