import factory

from innovation.models import Idea


class IdeaFactory(factory.django.DjangoModelFactory):
    """A bare idea row; tests of the rules create ideas through ``services.create_idea``."""

    class Meta:
        model = Idea

    title = factory.Sequence(lambda n: f"Idea {n}")
    problem = factory.Sequence(lambda n: f"Customers struggle with problem {n}.")
