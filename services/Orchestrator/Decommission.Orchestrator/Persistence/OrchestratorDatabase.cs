using Decommission.Sqlite;

namespace Decommission.Orchestrator.Persistence;

/// <summary>The orchestrator's own SQLite file: retirements (saga state) and their audit trail.</summary>
public sealed class OrchestratorDatabase(string path) : SqliteDatabase(path, typeof(OrchestratorDatabase).Assembly);
