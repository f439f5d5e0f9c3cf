namespace Decommission.Testing;

/// <summary>The throwaway RabbitMQ node ops/test.sh starts; tests that need it fail loudly when it is absent.</summary>
public static class RabbitMqNode
{
    public const string Variable = "DECOM_TEST_RABBITMQ_URI";

    public static Uri Uri =>
        Environment.GetEnvironmentVariable(Variable) is { Length: > 0 } value
            ? new Uri(value)
            : throw new InvalidOperationException(
                $"{Variable} is not set: this test needs the real RabbitMQ node that ops/test.sh starts. Run the tests with ops/test.sh.");
}
