from django.urls import path

from gateway_auth import views

urlpatterns = [
    path('', views.home, name='home'),
    path('login/', views.login, name='login'),
    path('oidc/callback', views.callback, name='oidc-callback'),
    path('logout/', views.logout, name='logout'),
    path('signed-out', views.signed_out, name='signed-out'),
    path('api/me', views.api_me, name='api-me'),
]
