using System.Text.Json;

namespace Decommission.DeviceGateway;

/// <summary>JSON as the device protocol writes it.</summary>
internal static class Wire
{
    public static string Serialize<T>(T value) => JsonSerializer.Serialize(value);

    public static T Deserialize<T>(string json) => JsonSerializer.Deserialize<T>(json) ?? throw new JsonException("empty JSON document");
}
