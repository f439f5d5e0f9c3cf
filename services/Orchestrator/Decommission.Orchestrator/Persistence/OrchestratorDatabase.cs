using Decommission.Storage;

namespace Decommission.Orchestrator.Persistence;

/// <summary>The orchestrator's own SQLite file: retirements (saga state) and their audit trail.</summary>
public sealed class OrchestratorDatabase(DatabaseLocation location) : ServiceDatabase(location, typeof(OrchestratorDatabase).Assembly);
