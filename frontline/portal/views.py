from django.http import HttpRequest, HttpResponse


def ticket_list(request: HttpRequest) -> HttpResponse:
    return HttpResponse("portal")
