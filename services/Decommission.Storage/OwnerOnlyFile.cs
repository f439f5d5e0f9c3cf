namespace Decommission.Storage;

/// <summary>Files that hold private keys: created readable and writable by their owner only (mode 600).</summary>
public static class OwnerOnlyFile
{
    private const UnixFileMode OthersAccess =
        UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute |
        UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute;

    /// <summary>Creates the file (it must not exist) with owner-only permissions before any byte is written.</summary>
    public static void Write(string path, string contents)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        using var writer = new StreamWriter(new FileStream(path, options));
        writer.Write(contents);
    }

    public static bool IsOwnerOnly(string path) =>
        OperatingSystem.IsWindows() || (File.GetUnixFileMode(path) & OthersAccess) == 0;
}
