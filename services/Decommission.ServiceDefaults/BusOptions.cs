using System.ComponentModel.DataAnnotations;

namespace Decommission.ServiceDefaults;

/// <summary>Which transport the services talk over; bound from the "Bus" section.</summary>
public sealed class BusOptions
{
    public const string Section = "Bus";

    /// <summary>InMemory for the all-in-one host and tests, RabbitMq for separate processes.</summary>
    [Required]
    public BusTransport Transport { get; set; } = BusTransport.RabbitMq;

    /// <summary>amqp://user:password@host:port/vhost, or amqps:// for TLS (the distributed run, compose); the password never reaches a log.</summary>
    [Required]
    public Uri RabbitMqUri { get; set; } = new("amqp://guest:guest@127.0.0.1:5672/");

    /// <summary>PEM file of the CA the broker's certificate must chain to (amqps:// only); unset: the system's trust store.</summary>
    public string? BrokerCaCertificatePath { get; set; }

    /// <summary>
    /// True: each receive endpoint declares and binds the type exchanges of what it consumes (MassTransit's default; the
    /// broker user then needs configure on them). False: the broker's set-up has declared them from the bus catalogue
    /// (ops/up.sh, the compose definitions) and the endpoint binds nothing — what a least-privilege user requires.
    /// </summary>
    public bool DeclareConsumeTopology { get; set; } = true;

    /// <summary>
    /// True (the default): a message is consumed only if the broker vouches (AMQP user-id) that its sender is a user the bus
    /// catalogue names as a producer of its type; everything sent is stamped with our own user. Turn off only on a broker
    /// where every process shares one user (the tests' throwaway node).
    /// </summary>
    public bool VerifySenders { get; set; } = true;

    /// <summary>Messages each receive endpoint fetches ahead.</summary>
    [Range(1, 10_000)]
    public int PrefetchCount { get; set; } = 32;
}

public enum BusTransport
{
    InMemory,
    RabbitMq,
}
