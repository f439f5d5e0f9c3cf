using Decommission.Sqlite;

namespace Decommission.Inventory;

/// <summary>The inventory's own SQLite file.</summary>
public sealed class InventoryDatabase(string path) : SqliteDatabase(path, typeof(InventoryDatabase).Assembly);
