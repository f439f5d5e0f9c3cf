
namespace Decommission.Testing;

/// <summary>
/// The throwaway RabbitMQ node ops/test.sh starts; tests that need it fail loudly when it is absent. Each test assembly
/// uses its own virtual host (ops/test.sh creates one per tests/*.Tests project), as assemblies run in parallel.
/// </summary>
public static class RabbitMqNode
{
    public const string Variable = "DECOM_TEST_RABBITMQ_URI";

    public static Uri Uri
    {
        get
        {
            var value = Environment.GetEnvironmentVariable(Variable);
            if (string.IsNullOrEmpty(value))
                throw new InvalidOperationException(
                    $"{Variable} is not set: this test needs the real RabbitMQ node that ops/test.sh starts. Run the tests with ops/test.sh.");
            return new UriBuilder(value) { Path = "/" + Uri.EscapeDataString(TestAssemblyName) }.Uri;
        }
    }

    private static string TestAssemblyName =>
        AppDomain.CurrentDomain.GetAssemblies().Select(a => a.GetName().Name ?? "")
            .Single(name => name.StartsWith("Decommission.", StringComparison.Ordinal) && name.EndsWith(".Tests", StringComparison.Ordinal));
}
