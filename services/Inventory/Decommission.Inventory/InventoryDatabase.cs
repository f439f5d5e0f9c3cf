using Decommission.Storage;

namespace Decommission.Inventory;

/// <summary>The inventory's own SQLite file.</summary>
public sealed class InventoryDatabase(DatabaseLocation location) : ServiceDatabase(location, typeof(InventoryDatabase).Assembly);
